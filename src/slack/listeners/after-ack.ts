/**
 * Runs what listeners do after their acknowledgement, starting one piece of work per turn of the
 * event loop. Between two starts Node reads what arrived on the network, so when two hundred people
 * click at once every click is acknowledged before Slack's 3 seconds run out, instead of waiting
 * behind the work of the clicks that arrived before it. The work itself is not held back: each piece
 * starts a turn after the previous one, and they run side by side once started.
 */
export type AfterAck = (work: () => Promise<void>) => Promise<void>;

export function createAfterAck(): AfterAck {
  const waiting: Array<() => void> = [];
  let scheduled = false;
  const startNext = () => {
    waiting.shift()?.();
    // An immediate set from inside one runs on the next turn, after the network has been read.
    scheduled = waiting.length > 0;
    if (scheduled) setImmediate(startNext);
  };
  return (work) =>
    new Promise<void>((resolve, reject) => {
      waiting.push(() => {
        try {
          work().then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      });
      if (!scheduled) {
        scheduled = true;
        setImmediate(startNext);
      }
    });
}
