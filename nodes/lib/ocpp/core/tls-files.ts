/**
 * TLS certificate and key read from files on disk (e.g. a Let's Encrypt
 * fullchain.pem that a Home Assistant add-on renews), and read again when a
 * file changes, so a renewed certificate is used for new connections
 * without a redeploy. A broken renewal (unreadable file, key that does not
 * match) keeps the old certificate and is reported.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from "node:fs";
import { createSecureContext } from "node:tls";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Profile 3: the CA that signed the chargers' client certificates. */
  caFile?: string;
  passphrase?: string;
}

export interface TlsFileMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  passphrase?: string;
}

/** Reads the files and checks that certificate and key belong together; throws an error that names the file. */
export function readTlsFiles(files: TlsFiles): TlsFileMaterial {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`Cannot read the TLS ${what} file "${file}": ${(err as Error).message}`, { cause: err });
    }
  };
  const material: TlsFileMaterial = { cert: read(files.certFile, "certificate"), key: read(files.keyFile, "key") };
  if (files.caFile) material.ca = read(files.caFile, "CA");
  if (files.passphrase) material.passphrase = files.passphrase;
  try {
    createSecureContext(material);
  } catch (err) {
    throw new Error(`The TLS certificate "${files.certFile}" and key "${files.keyFile}" do not work together: ${(err as Error).message}`, { cause: err });
  }
  return material;
}

/**
 * Polls the files (fs.watchFile: works for files replaced by rename, as
 * certbot does, and on network shares) and calls `onChange` with the new
 * material once all of them read well. Returns a stop function.
 */
export function watchTlsFiles(files: TlsFiles, intervalMs: number, onChange: (material: TlsFileMaterial) => void, onError: (err: Error) => void): () => void {
  const paths = [files.certFile, files.keyFile, ...(files.caFile ? [files.caFile] : [])];
  let timer: NodeJS.Timeout | undefined;
  const changed = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    // Certificate and key are usually written one after the other: wait for both.
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      try {
        onChange(readTlsFiles(files));
      } catch (err) {
        onError(err as Error);
      }
    }, Math.min(1000, intervalMs));
    timer.unref();
  };
  for (const file of paths) watchFile(file, { interval: intervalMs, persistent: false }, changed);
  return () => {
    if (timer) clearTimeout(timer);
    for (const file of paths) unwatchFile(file, changed);
  };
}
