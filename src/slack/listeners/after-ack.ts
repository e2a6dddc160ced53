/**
 * Runs what listeners do after their acknowledgement, so that under a burst every acknowledgement
 * goes out before the work of the clicks around it. Slack waits 3 seconds for each acknowledgement;
 * two hundred people clicking at once arrive over many turns of the event loop, and work started
 * meanwhile (a database read, a modal sent to Slack, its answer read back) would make the later
 * clicks wait behind the earlier ones' work.
 *
 * Work starts on a turn of the event loop in which no new click was acknowledged, up to `batch`
 * pieces together (in one synchronous stretch, so that they can share a read), and the network is
 * read between two batches. Work waits at most `maxWaitMs` for such a quiet turn: a trigger id is
 * good for 3 seconds from the click, and the modal has to open within them. Once started, pieces
 * run side by side.
 */
export type AfterAck = (work: () => Promise<void>) => Promise<void>;

export interface AfterAckOptions {
  maxWaitMs?: number;
  batch?: number;
  now?: () => number;
}

export function createAfterAck({ maxWaitMs = 1000, batch = 20, now = () => performance.now() }: AfterAckOptions = {}): AfterAck {
  const waiting: Array<{ since: number; start: () => void }> = [];
  let scheduled = false;
  /** Pieces of work handed in so far, and as many as the last turn had seen: a difference means clicks are still coming. */
  let handedIn = 0;
  let seen = 0;

  const turn = () => {
    const quiet = handedIn === seen;
    seen = handedIn;
    const waitedSince = now() - maxWaitMs;
    let started = 0;
    while (started < batch && waiting.length > 0 && (quiet || waiting[0]!.since <= waitedSince)) {
      waiting.shift()!.start();
      started += 1;
    }
    // An immediate set from inside one runs on the next turn, after the network has been read.
    scheduled = waiting.length > 0;
    if (scheduled) setImmediate(turn);
  };

  return (work) =>
    new Promise<void>((resolve, reject) => {
      handedIn += 1;
      waiting.push({
        since: now(),
        start: () => {
          try {
            work().then(resolve, reject);
          } catch (error) {
            reject(error);
          }
        },
      });
      if (!scheduled) {
        scheduled = true;
        setImmediate(turn);
      }
    });
}
