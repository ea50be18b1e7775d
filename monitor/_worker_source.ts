// The source of the monitor's worker, for a Blob URL: the classes and
// functions of _server.ts, _console.ts, _feed.ts and _web.ts, and the
// constants they use, then a call to serverMain(). Every name the worker's
// code refers to must be listed here (the monitor's tests start a worker, so
// a missing one fails them).

import { RUNNING_ID } from "../kernel/monitor_hook.ts";
import {
  Budget,
  CommandError,
  COMMANDS,
  formatPs,
  HELP,
  isDisconnect,
  resolveCommand,
  Session,
  signalName,
} from "./_console.ts";
import { clip, Feed, formatDuration, POLL_MS, printable } from "./_feed.ts";
import { PAGE_HTML } from "./_page.ts";
import { MONITOR_MAX_LINE, MONITOR_PROMPT, STALL_MS } from "./_protocol.ts";
import { Server, serverMain, SWEEP_MS } from "./_server.ts";
import { PUSH_MS, sameSecret, SECURITY_HEADERS, text, WebServer } from "./_web.ts";

let source: string | undefined;

/** The worker program as JavaScript source, made once per process. */
export function workerSource(): string {
  if (source !== undefined) return source;
  const constants: Record<string, unknown> = {
    RUNNING_ID,
    COMMANDS,
    HELP,
    POLL_MS,
    PAGE_HTML,
    MONITOR_MAX_LINE,
    MONITOR_PROMPT,
    STALL_MS,
    SWEEP_MS,
    PUSH_MS,
    SECURITY_HEADERS,
  };
  const code = [
    Budget,
    CommandError,
    formatPs,
    isDisconnect,
    resolveCommand,
    Session,
    signalName,
    clip,
    Feed,
    formatDuration,
    printable,
    Server,
    serverMain,
    sameSecret,
    text,
    WebServer,
  ];
  source = [
    ...Object.entries(constants).map(([name, value]) =>
      `const ${name} = ${JSON.stringify(value)};`
    ),
    ...code.map((f) => Function.prototype.toString.call(f)),
    "serverMain();",
  ].join("\n");
  return source;
}
