import { SmtpConnection, SmtpError, type Envelope, type SmtpConnectionOptions, type SmtpJob } from "./smtp-connection.js";

export interface SmtpPoolOptions extends SmtpConnectionOptions {
  maxConnections: number;
  /** A fresh connection after this many messages: some servers cap a session. */
  maxMessages: number;
  /** An idle connection is closed after this long. */
  idleTimeoutMs: number;
}

export interface SmtpPool {
  /** Resolves with the server's reply to the message; rejects with an SmtpError. */
  send(envelope: Envelope, data: Buffer): Promise<string>;
  close(): Promise<void>;
}

interface Member {
  connection: SmtpConnection;
  messages: number;
  idleTimer?: NodeJS.Timeout;
}

/**
 * Up to `maxConnections` SMTP sessions; messages wait in order, and a session busy with one takes the
 * next waiting message along (its envelope goes out behind the current content). A failed message is
 * never tried again here: the engine retries it later with the same Message-ID, its backoff and its
 * error budget, and only it knows whether it may. Only a message none of whose content went out (its
 * session broke while its envelope was on the way) is handed to another session, once. A connection
 * that cannot be opened fails the message that asked for it; a broken one is dropped and the next
 * message opens a new one.
 */
export function createSmtpPool(options: SmtpPoolOptions): SmtpPool {
  const idle: Member[] = [];
  const queue: SmtpJob[] = [];
  let open = 0;
  let closed = false;

  const dispatch = () => {
    while (queue.length > 0) {
      const member = idle.pop();
      if (member) {
        clearTimeout(member.idleTimer);
        if (!member.connection.usable) {
          drop(member);
          continue;
        }
        run(member, queue.shift() as SmtpJob);
        continue;
      }
      if (open >= options.maxConnections) return;
      connect(queue.shift() as SmtpJob);
    }
  };

  const connect = (job: SmtpJob) => {
    open++;
    const member: Member = { connection: new SmtpConnection(options), messages: 0 };
    member.connection.onClose(() => {
      const at = idle.indexOf(member);
      if (at !== -1) {
        idle.splice(at, 1);
        clearTimeout(member.idleTimer);
        open--;
        dispatch();
      }
    });
    member.connection.connect().then(
      () => run(member, job),
      (error: Error) => {
        member.connection.destroy();
        open--;
        job.reject(error);
        dispatch();
      },
    );
  };

  const run = (member: Member, job: SmtpJob) => {
    const pull = () => (closed ? undefined : queue.shift());
    const requeue = (job: SmtpJob) => {
      if (closed) return job.reject(new SmtpError("The mailer is closed", "ECONNECTION", undefined, "API"));
      queue.unshift(job);
      // Another session takes it (or a new one), once this one is let go below.
      setImmediate(dispatch);
    };
    void member.connection.deliver(job, pull, requeue, options.maxMessages - member.messages).then((attempted) => {
      member.messages += attempted;
      release(member);
    });
  };

  const release = (member: Member) => {
    if (closed || !member.connection.usable || member.messages >= options.maxMessages) {
      drop(member);
      dispatch();
      return;
    }
    const job = queue.shift();
    if (job) return run(member, job);
    member.idleTimer = setTimeout(() => {
      const at = idle.indexOf(member);
      if (at === -1) return;
      idle.splice(at, 1);
      drop(member);
    }, options.idleTimeoutMs);
    member.idleTimer.unref();
    idle.push(member);
  };

  const drop = (member: Member) => {
    open--;
    member.connection.onClose(() => {});
    member.connection.quit();
  };

  return {
    send(envelope, data) {
      if (closed) return Promise.reject(new SmtpError("The mailer is closed", "ECONNECTION", undefined, "API"));
      return new Promise<string>((resolve, reject) => {
        queue.push({ envelope, data, resolve, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new SmtpError("The mailer is closed", "ECONNECTION", undefined, "API"));
      for (const member of idle.splice(0)) {
        clearTimeout(member.idleTimer);
        drop(member);
      }
    },
  };
}
