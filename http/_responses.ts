/**
 * The answers `httpServer` gives on a handler's behalf, and its one-line
 * error report.
 *
 * @module
 */

/** 503 for a request cancelled (timeout, shutdown, client gone) or refused while closing. */
export function unavailable(reason: string, close: boolean): Response {
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
  if (close) headers["connection"] = "close";
  return new Response(`Service Unavailable: ${reason}\n`, { status: 503, headers });
}

/** 500 for a handler that failed. */
export function internalError(): Response {
  return new Response("Internal Server Error\n", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** `Name: message` on one line, whatever was thrown. */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) text = `${error.name}: ${error.message}`;
  else {
    try {
      text = String(error);
    } catch {
      text = Object.prototype.toString.call(error);
    }
  }
  const cut = text.indexOf("\n");
  return cut < 0 ? text : `${text.slice(0, cut)} ...`;
}

/** Reports a failed request on stderr: exactly one line, no stack. */
export function logFailure(name: string, what: string, error: unknown): void {
  console.error(`httpServer: ${name}: ${what}: ${describeError(error)}`);
}
