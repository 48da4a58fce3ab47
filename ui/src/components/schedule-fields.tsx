import { type ReactNode, useId } from 'react';

/** A labelled text input (or textarea) with its hint and its error, for the schedule form. */
export function TextField({
  label,
  value,
  onChange,
  error,
  hint,
  type = 'text',
  disabled,
  required,
  multiline,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string | undefined;
  hint?: string | undefined;
  type?: string;
  disabled?: boolean;
  required?: boolean;
  multiline?: boolean;
}) {
  const id = useId();
  const props = {
    id,
    value,
    disabled,
    'aria-invalid': error ? true : undefined,
    'aria-required': required || undefined,
    'aria-describedby':
      [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined,
  };
  return (
    <div className="schema-field">
      <label htmlFor={id}>
        {label}
        {required && (
          <span className="schema-required" aria-hidden="true">
            {' '}
            *
          </span>
        )}
      </label>
      {multiline ? (
        <textarea {...props} rows={8} spellCheck={false} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input {...props} type={type} onChange={(e) => onChange(e.target.value)} />
      )}
      {hint && (
        <span className="schema-hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}

/** A labelled select with its error. */
export function SelectField({
  label,
  value,
  onChange,
  error,
  required,
  children,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string | undefined;
  required?: boolean;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <div className="schema-field">
      <label htmlFor={id}>
        {label}
        {required && (
          <span className="schema-required" aria-hidden="true">
            {' '}
            *
          </span>
        )}
      </label>
      <select
        id={id}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-required={required || undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      >
        {children}
      </select>
      {error && (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}
