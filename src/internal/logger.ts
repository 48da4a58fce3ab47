import pino from 'pino';

/** The operational logger stint writes its own messages to (pino's interface; pass any pino logger). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Warnings and errors as JSON lines on stderr; a library stays quiet otherwise. */
export function defaultLogger(): Logger {
  return pino({ level: 'warn', base: { lib: 'stint' } }, pino.destination({ dest: 2, sync: true }));
}
