import { ValidationError } from '../core/errors.js';
import { MIN_PASSWORD_LENGTH } from '../server/auth-crypto.js';

/** Reads all of stdin; the password is its first line. */
async function firstLineOfStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return (Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '').trimEnd();
}

/** Asks on the terminal without echoing what is typed. */
function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let text = '';
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003')
          return done(new ValidationError('cancelled', [{ path: 'password', message: 'cancelled' }]));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * A new user's password, from (in this order) `--password-stdin`, `--password` (with a warning:
 * argv is visible to other users of the machine), `STINT_PASSWORD`, or a prompt on a terminal.
 */
export async function readNewPassword(opts: { passwordStdin?: boolean; password?: string }): Promise<string> {
  let password: string;
  if (opts.passwordStdin) password = await firstLineOfStdin();
  else if (opts.password !== undefined) {
    console.error(
      'warning: --password puts the password in the process list and shell history; prefer --password-stdin or STINT_PASSWORD',
    );
    password = opts.password;
  } else if (process.env.STINT_PASSWORD) password = process.env.STINT_PASSWORD;
  else if (process.stdin.isTTY) {
    password = await askHidden('password: ');
    if ((await askHidden('again: ')) !== password)
      throw new ValidationError('the passwords do not match: run the command again', [
        { path: 'password', message: 'mismatch' },
      ]);
  } else {
    throw new ValidationError(
      'no password given: pipe it with --password-stdin, set STINT_PASSWORD, or run on a terminal to be asked',
      [{ path: 'password', message: 'missing' }],
    );
  }
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new ValidationError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`, [
      { path: 'password', message: `${password.length} characters` },
    ]);
  return password;
}
