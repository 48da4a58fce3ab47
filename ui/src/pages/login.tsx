import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, api } from '../api';
import { Button, ErrorBox } from '../components/ui';
import { navigate, useLocation, useTitle } from '../router';
import type { Principal } from '../types';

export function LoginPage({ onLogin }: { onLogin: (principal: Principal) => void }) {
  useTitle('Log in');
  const { path } = useLocation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    api.post<{ user: Principal }>('/auth/login', { username, password }).then(
      ({ user }) => {
        setBusy(false);
        if (path === '/login') navigate('/', { replace: true });
        onLogin({ ...user, via: 'session' });
      },
      (err: unknown) => {
        setBusy(false);
        setError(err instanceof ApiError ? err : new ApiError(0, 'CLIENT', String(err)));
      },
    );
  };

  return (
    <div className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand big">stint</div>
        <h1 id="login-title">Log in</h1>
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
            ref={first}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <ErrorBox
          error={error}
          title={error?.code === 'RATE_LIMITED' ? 'Too many attempts' : 'Could not log in'}
        />
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </Button>
        <p className="muted small">
          Users are created with <code>stint users create</code>.
        </p>
      </form>
    </div>
  );
}
