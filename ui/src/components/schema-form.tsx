import { type ReactNode, useEffect, useId, useRef, useState } from 'react';

/**
 * A form generated from a JSON Schema (the task input schemas the server publishes): object
 * properties become labelled fields; strings (enum → select, date-time → datetime-local),
 * numbers and integers (min/max), booleans (checkbox), arrays of primitives (one per line),
 * nested objects (fieldset); anything else is edited as JSON. Errors are keyed by dotted path
 * (`input.target.bucket`), as the API names failing fields.
 */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
  title?: string;
  anyOf?: JsonSchema[];
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const PRIMITIVES = new Set(['string', 'number', 'integer', 'boolean']);

/** `{ anyOf: [X, {type: 'null'}] }` or `{ type: [X, 'null'] }` (a nullable field) is edited as X. */
function unwrap(schema: JsonSchema): JsonSchema {
  const branches = schema.anyOf?.filter((b) => b.type !== 'null');
  if (branches?.length === 1 && branches[0]) return { ...branches[0], ...pick(schema) };
  const types = Array.isArray(schema.type) ? schema.type.filter((t) => t !== 'null') : null;
  if (types?.length === 1) return { ...schema, type: types[0] };
  return schema;
}
const pick = (s: JsonSchema): JsonSchema => ({
  ...(s.description !== undefined ? { description: s.description } : {}),
  ...(s.default !== undefined ? { default: s.default } : {}),
  ...(s.title !== undefined ? { title: s.title } : {}),
});
const typeOf = (s: JsonSchema): string | undefined => (Array.isArray(s.type) ? undefined : s.type);

/** Whether the form can edit this schema as fields (else only as JSON): an object with properties. */
export function formable(schema: unknown): boolean {
  return (
    isObj(schema) && typeOf(schema as JsonSchema) === 'object' && isObj((schema as JsonSchema).properties)
  );
}

/**
 * The value a new form starts with: nested required objects filled in. Properties with a default
 * stay out (the form shows the default as a placeholder): the published schemas are zod's input
 * side, where such a property is optional and the task's own schema fills it in when a run starts.
 */
export function initialValue(schema: JsonSchema): Obj {
  const out: Obj = {};
  for (const [key, raw] of Object.entries(schema.properties ?? {})) {
    const prop = unwrap(raw);
    if (prop.default === undefined && formable(prop) && schema.required?.includes(key))
      out[key] = initialValue(prop);
  }
  return out;
}

/** A default as the form shows it: strings bare ("" when empty), the rest as JSON. */
function defaultText(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value) ?? String(value);
}

/**
 * Required properties the value lacks, by dotted path (the server checks a schedule's input only
 * when it knows the task's code, so the form checks what the schema says).
 */
export function missingRequired(schema: JsonSchema, value: unknown, path = 'input'): Record<string, string> {
  const out: Record<string, string> = {};
  const obj = isObj(value) ? value : {};
  for (const [key, raw] of Object.entries(schema.properties ?? {})) {
    const prop = unwrap(raw);
    const v = obj[key];
    const required = schema.required?.includes(key) ?? false;
    if (required && (v === undefined || v === '') && prop.default === undefined)
      out[`${path}.${key}`] = 'required';
    else if (formable(prop) && isObj(v)) Object.assign(out, missingRequired(prop, v, `${path}.${key}`));
  }
  return out;
}

/** ISO (UTC) ↔ the local "YYYY-MM-DDTHH:mm" a datetime-local input holds. */
export function toLocalInput(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function fromLocalInput(text: string): string | undefined {
  if (!text) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

interface FieldProps {
  name: string;
  schema: JsonSchema;
  value: unknown;
  required: boolean;
  path: string;
  errors: Record<string, string>;
  onChange: (value: unknown) => void;
}

export function SchemaForm({
  schema,
  value,
  onChange,
  errors = {},
  path = 'input',
  placeholders = [],
}: {
  schema: JsonSchema;
  value: Obj;
  onChange: (value: Obj) => void;
  errors?: Record<string, string>;
  path?: string;
  /** Offered as suggestions in text fields (`{{ date }}`). */
  placeholders?: string[];
}) {
  const listId = useId();
  return (
    <div className="schema-form">
      {placeholders.length > 0 && (
        <datalist id={listId}>
          {placeholders.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
      )}
      <Properties
        schema={schema}
        value={value}
        onChange={onChange}
        errors={errors}
        path={path}
        listId={listId}
      />
    </div>
  );
}

function Properties({
  schema,
  value,
  onChange,
  errors,
  path,
  listId,
}: {
  schema: JsonSchema;
  value: Obj;
  onChange: (value: Obj) => void;
  errors: Record<string, string>;
  path: string;
  listId: string;
}) {
  const set = (key: string, v: unknown) => {
    const next = { ...value };
    if (v === undefined) delete next[key];
    else next[key] = v;
    onChange(next);
  };
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([key, prop]) => (
        <Field
          key={key}
          name={key}
          schema={unwrap(prop)}
          value={value[key]}
          required={schema.required?.includes(key) ?? false}
          path={`${path}.${key}`}
          errors={errors}
          onChange={(v) => set(key, v)}
          listId={listId}
        />
      ))}
    </>
  );
}

function Field(props: FieldProps & { listId: string }) {
  const { name, schema, value, required, path, errors, onChange, listId } = props;
  const id = useId();
  const error = errors[path];
  const hintId = `${id}-hint`;
  const defaultId = `${id}-default`;
  const errorId = `${id}-error`;
  const hasDefault = schema.default !== undefined;
  const described =
    [schema.description ? hintId : '', hasDefault ? defaultId : '', error ? errorId : '']
      .filter(Boolean)
      .join(' ') || undefined;
  // Empty means the default: the task's schema fills it in when a run starts.
  const placeholder = hasDefault ? defaultText(schema.default) : undefined;
  const a11y = {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-required': required || undefined,
    'aria-describedby': described,
  } as const;
  const type = typeOf(schema);
  const label = (
    <span className="schema-label">
      {schema.title ?? name}
      {required && (
        <span className="schema-required" aria-hidden="true">
          {' '}
          *
        </span>
      )}
    </span>
  );
  const notes = (
    <>
      {schema.description && (
        <span id={hintId} className="schema-hint">
          {schema.description}
        </span>
      )}
      {hasDefault && (
        <span id={defaultId} className="schema-hint">
          default: <span className="mono">{defaultText(schema.default)}</span>
        </span>
      )}
      {error && (
        <span id={errorId} className="field-error">
          {error}
        </span>
      )}
    </>
  );

  if (formable(schema)) {
    const nestedErrors = error ? <span className="field-error">{error}</span> : null;
    return (
      <fieldset className="schema-object">
        <legend>{label}</legend>
        {schema.description && <span className="schema-hint">{schema.description}</span>}
        {nestedErrors}
        <Properties
          schema={schema}
          value={isObj(value) ? value : {}}
          onChange={onChange}
          errors={errors}
          path={path}
          listId={listId}
        />
      </fieldset>
    );
  }

  let control: ReactNode;
  if (type === 'boolean') {
    return (
      <div className="schema-field">
        <label className="inline">
          <input
            type="checkbox"
            {...a11y}
            checked={typeof value === 'boolean' ? value : schema.default === true}
            onChange={(e) => onChange(e.target.checked)}
          />
          {label}
        </label>
        {notes}
      </div>
    );
  }
  if (schema.enum?.every((v) => typeof v === 'string' || typeof v === 'number')) {
    const options = schema.enum as (string | number)[];
    control = (
      <select
        {...a11y}
        value={value === undefined ? '' : String(value)}
        onChange={(e) => {
          const picked = options.find((o) => String(o) === e.target.value);
          onChange(picked);
        }}
      >
        {(!required || value === undefined) && (
          <option value="">{required ? 'choose…' : hasDefault ? `default (${placeholder})` : '—'}</option>
        )}
        {options.map((o) => (
          <option key={String(o)} value={String(o)}>
            {String(o)}
          </option>
        ))}
      </select>
    );
  } else if (type === 'string' && schema.format === 'date-time' && !String(value ?? '').includes('{{')) {
    control = (
      <input
        type="datetime-local"
        {...a11y}
        value={toLocalInput(value)}
        onChange={(e) => onChange(fromLocalInput(e.target.value))}
      />
    );
  } else if (type === 'string') {
    control = (
      <input
        type="text"
        {...a11y}
        list={listId}
        placeholder={placeholder}
        value={typeof value === 'string' ? value : ''}
        onChange={(e) => onChange(e.target.value === '' && !required ? undefined : e.target.value)}
      />
    );
  } else if (type === 'number' || type === 'integer') {
    control = (
      <NumberInput
        a11y={a11y}
        integer={type === 'integer'}
        schema={schema}
        value={value}
        onChange={onChange}
        placeholder={placeholder}
      />
    );
  } else if (type === 'array' && schema.items && PRIMITIVES.has(typeOf(schema.items) ?? '')) {
    control = (
      <ListInput
        a11y={a11y}
        itemType={typeOf(schema.items) ?? 'string'}
        value={value}
        onChange={onChange}
        placeholder={Array.isArray(schema.default) ? listFormat(schema.default) : undefined}
      />
    );
  } else {
    control = (
      <JsonInput
        a11y={a11y}
        value={value}
        onChange={onChange}
        placeholder={hasDefault ? jsonFormat(schema.default) : undefined}
      />
    );
  }
  return (
    <div className="schema-field">
      <label htmlFor={id}>{label}</label>
      {control}
      {notes}
    </div>
  );
}

type A11y = Record<string, unknown> & { id: string };

function NumberInput({
  a11y,
  integer,
  schema,
  value,
  onChange,
  placeholder,
}: {
  a11y: A11y;
  integer: boolean;
  schema: JsonSchema;
  value: unknown;
  onChange: (v: unknown) => void;
  placeholder: string | undefined;
}) {
  return (
    <input
      type="number"
      {...a11y}
      step={integer ? 1 : 'any'}
      min={schema.minimum}
      max={schema.maximum}
      placeholder={placeholder}
      value={typeof value === 'number' ? value : ''}
      onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
    />
  );
}

/** Text that the parent's value is derived from; re-read when the value changes from outside. */
function useText<T>(value: unknown, format: (v: unknown) => string, parse: (t: string) => T) {
  const [text, setText] = useState(() => format(value));
  const fns = useRef({ format, parse });
  fns.current = { format, parse };
  useEffect(() => {
    const { format: f, parse: p } = fns.current;
    setText((current) => (JSON.stringify(p(current)) === JSON.stringify(value) ? current : f(value)));
  }, [value]);
  return [text, setText] as const;
}

const listFormat = (v: unknown) => (Array.isArray(v) ? v.map(String).join('\n') : '');

function ListInput({
  a11y,
  itemType,
  value,
  onChange,
  placeholder,
}: {
  a11y: A11y;
  itemType: string;
  value: unknown;
  onChange: (v: unknown) => void;
  /** The default's items; else the format is the hint. */
  placeholder: string | undefined;
}) {
  const parse = (t: string): unknown[] | undefined => {
    const items = t
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) return undefined;
    return items.map((s) =>
      itemType === 'number' || itemType === 'integer' ? Number(s) : itemType === 'boolean' ? s === 'true' : s,
    );
  };
  const [text, setText] = useText(value, listFormat, parse);
  return (
    <textarea
      {...a11y}
      className="schema-list"
      rows={3}
      placeholder={placeholder ?? 'one per line (or comma separated)'}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(parse(e.target.value));
      }}
    />
  );
}

const jsonFormat = (v: unknown) => (v === undefined ? '' : JSON.stringify(v, null, 2));
const jsonParse = (t: string): unknown => {
  try {
    return t.trim() === '' ? undefined : JSON.parse(t);
  } catch {
    return Symbol.for('invalid');
  }
};

function JsonInput({
  a11y,
  value,
  onChange,
  placeholder,
}: {
  a11y: A11y;
  value: unknown;
  onChange: (v: unknown) => void;
  placeholder: string | undefined;
}) {
  const [text, setText] = useText(value, jsonFormat, jsonParse);
  const [bad, setBad] = useState(false);
  return (
    <>
      <textarea
        {...a11y}
        className="schema-json"
        rows={3}
        placeholder={placeholder ?? 'JSON'}
        aria-invalid={bad || a11y['aria-invalid'] === true || undefined}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          const parsed = jsonParse(e.target.value);
          const invalid = typeof parsed === 'symbol';
          setBad(invalid);
          if (!invalid) onChange(parsed);
        }}
      />
      {bad && <span className="field-error">not valid JSON yet: the last valid value is kept</span>}
    </>
  );
}
