/** Resolves after the event loop's current turn: I/O callbacks and timers due by then run first. */
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
