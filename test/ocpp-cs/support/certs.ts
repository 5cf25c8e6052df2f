/**
 * Test PKI made at run time (nothing secret in git): a CA, a server
 * certificate for 127.0.0.1/localhost, and charger client certificates.
 * Keys come from node:crypto (fast, native); node-forge builds and signs
 * the X.509 certificates.
 */
import { generateKeyPairSync } from "node:crypto";
import forge from "node-forge";

export interface KeyAndCert {
  key: string;
  cert: string;
}

let serial = 1;

function newKeys(): { pem: string; forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) as forge.pki.rsa.PublicKey;
  return { pem, forgeKey, publicKey };
}

function build(
  cn: string,
  issuer: { cert?: forge.pki.Certificate; key?: forge.pki.rsa.PrivateKey },
  extensions: object[],
  validDays = 365,
): KeyAndCert & { forgeCert: forge.pki.Certificate; forgeKey: forge.pki.rsa.PrivateKey } {
  const keys = newKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = (serial++).toString(16).padStart(2, "0");
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + validDays * 86_400_000);
  cert.setSubject([{ name: "commonName", value: cn }]);
  cert.setIssuer(issuer.cert ? issuer.cert.subject.attributes : [{ name: "commonName", value: cn }]);
  cert.setExtensions(extensions);
  cert.sign(issuer.key ?? keys.forgeKey, forge.md.sha256.create());
  return { key: keys.pem, cert: forge.pki.certificateToPem(cert), forgeCert: cert, forgeKey: keys.forgeKey };
}

export interface TestPki {
  ca: KeyAndCert;
  server: KeyAndCert;
  client(cn: string): KeyAndCert;
}

export function makePki(name = "Test CA"): TestPki {
  const ca = build(name, {}, [{ name: "basicConstraints", cA: true }, { name: "keyUsage", keyCertSign: true, cRLSign: true }]);
  const issuer = { cert: ca.forgeCert, key: ca.forgeKey };
  const server = build("localhost", issuer, [
    { name: "basicConstraints", cA: false },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] },
  ]);
  return {
    ca: { key: ca.key, cert: ca.cert },
    server: { key: server.key, cert: server.cert },
    client: (cn) => {
      const c = build(cn, issuer, [{ name: "basicConstraints", cA: false }, { name: "extKeyUsage", clientAuth: true }]);
      return { key: c.key, cert: c.cert };
    },
  };
}
