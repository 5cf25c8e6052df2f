/**
 * Reads an HTTP response body with a size cap that holds while the data
 * arrives: the bytes as sent (compressed) and the bytes unpacked are both
 * counted, and the stream is destroyed the moment either passes the cap.
 * So an endless body, or a 2 MB gzip "bomb" that unpacks to 2 GB, costs at
 * most the cap in memory and ends in a catchable error, never in a V8
 * out-of-memory crash that takes Node-RED down.
 */
import type { Readable, Transform } from "node:stream";
import zlib from "node:zlib";

/** A body was larger than allowed; `compressed` tells which count tripped. */
export class ResponseTooLargeError extends Error {
  readonly limit: number;
  /** True when the bytes as sent passed the cap (before unpacking). */
  readonly compressed: boolean;
  /** True when the body was compressed and its unpacked size passed the cap. */
  readonly unpacked: boolean;
  constructor(limit: number, compressed: boolean, unpacked: boolean) {
    super(`The response is larger than ${limit} bytes`);
    this.name = "ResponseTooLargeError";
    this.limit = limit;
    this.compressed = compressed;
    this.unpacked = unpacked;
  }
}

export class BodyAbortedError extends Error {
  constructor() {
    super("Reading the response was cancelled");
    this.name = "BodyAbortedError";
  }
}

/** The Accept-Encoding readCapped can unpack. */
export const ACCEPTED_ENCODINGS = "gzip, deflate, br";

// Lenient like browsers and axios: a body cut short still yields what arrived.
const ZLIB_OPTIONS = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };

function decoderFor(encoding: string | undefined): Transform | undefined {
  const name = (encoding ?? "").trim().toLowerCase();
  switch (name) {
    case "gzip":
    case "x-gzip":
    case "deflate":
      // Unzip recognises both gzip and zlib-wrapped deflate by their header.
      return zlib.createUnzip(ZLIB_OPTIONS);
    case "br":
      return zlib.createBrotliDecompress({
        flush: zlib.constants.BROTLI_OPERATION_FLUSH,
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
      });
    default:
      return undefined;
  }
}

/**
 * Collects `raw` (unpacking per Content-Encoding) into one Buffer of at most
 * `maxBytes`; rejects with ResponseTooLargeError as soon as more arrives, or
 * BodyAbortedError when `signal` aborts. Every stream is destroyed on failure.
 */
export function readCapped(raw: Readable, contentEncoding: string | undefined, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  const decoder = decoderFor(contentEncoding);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let rawBytes = 0;
    let bodyBytes = 0;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      if (error) {
        chunks.length = 0;
        raw.destroy();
        decoder?.destroy();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, bodyBytes));
      }
    };
    const onAbort = (): void => finish(new BodyAbortedError());
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });

    const collect = (chunk: Buffer): void => {
      if (settled) return;
      bodyBytes += chunk.length;
      if (bodyBytes > maxBytes) {
        finish(new ResponseTooLargeError(maxBytes, false, decoder !== undefined));
        return;
      }
      chunks.push(chunk);
    };

    raw.on("error", (err: Error) => finish(err));
    raw.on("data", (chunk: Buffer) => {
      if (settled) return;
      rawBytes += chunk.length;
      if (rawBytes > maxBytes) {
        finish(new ResponseTooLargeError(maxBytes, decoder !== undefined, false));
        return;
      }
      if (decoder) {
        // Backpressure: the decoder unpacks chunk by chunk and we count each piece as it comes,
        // so a bomb is stopped after about maxBytes of output, not after unpacking all of it.
        if (!decoder.write(chunk)) {
          raw.pause();
          decoder.once("drain", () => {
            if (!settled) raw.resume();
          });
        }
      } else collect(chunk);
    });
    if (decoder) {
      decoder.on("data", collect);
      decoder.on("error", (err: Error) => finish(err));
      decoder.on("end", () => finish());
      raw.on("end", () => {
        if (!settled) decoder.end();
      });
    } else {
      raw.on("end", () => finish());
    }
    raw.on("close", () => {
      // A connection cut before the end: what the caller gets is an error, not half a document.
      if (!settled && !raw.readableEnded) finish(Object.assign(new Error("The connection closed before the whole answer arrived"), { code: "ECONNRESET" }));
    });
  });
}
