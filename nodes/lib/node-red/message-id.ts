/**
 * Message ids for senders of many messages a second. A node that sends
 * without one gets an id Node-RED builds from eight Math.random() bytes;
 * a random per-process prefix plus a counter gives ids of the same shape
 * (16 hex digits), unique within the process, at a fraction of the cost.
 */
let prefix = randomPrefix();
let counter = 0;

function randomPrefix(): string {
  return Math.floor(Math.random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, "0");
}

export function nextMessageId(): string {
  counter = (counter + 1) >>> 0;
  // After 2^32 ids the counter starts again: a new prefix keeps them apart.
  if (counter === 0) prefix = randomPrefix();
  return prefix + counter.toString(16).padStart(8, "0");
}
