// The sendgate CLI: a client of the intake and operator APIs (`npm run sendgate -- --help`).
import { runCli } from "./run-cli.js";

process.exitCode = await runCli(process.argv.slice(2), {
  env: {
    SENDGATE_URL: process.env.SENDGATE_URL,
    SENDGATE_API_TOKEN: process.env.SENDGATE_API_TOKEN,
    SENDGATE_OPERATOR_TOKEN: process.env.SENDGATE_OPERATOR_TOKEN,
  },
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
