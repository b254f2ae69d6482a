/** Form pieces both LoFIT forms (single run and transfer) lay out the same way. */
import type { InputHTMLAttributes, ReactNode } from 'react';
import type { ModelSummary } from '../../../src-main/api/contract.js';

/** An empty field means "use the default", so it is left out of the request. */
export const num = (s: string): number | undefined => (s.trim() === '' ? undefined : Number(s));

const fieldStyle = { display: 'flex', flexDirection: 'column', gap: 2, fontSize: 13 } as const;
const gridStyle = { display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(140px, 1fr))', gap: '8px 12px', alignItems: 'end' } as const;

export function Field({ label, hint, error, children }: { label: string; hint?: string; error?: string; children: ReactNode }) {
  return (
    <label style={fieldStyle} title={hint}>
      <span>{label}</span>
      {children}
      {error && <span className="field-error">{error}</span>}
    </label>
  );
}

export function FieldGrid({ children }: { children: ReactNode }) {
  return <div style={gridStyle}>{children}</div>;
}

/** Built-in models go by name, opened ones by folder; models without a readable architecture cannot be chosen. */
export function ModelField({ models, value, onChange, ariaLabel, error }: { models: ModelSummary[]; value: string; onChange: (model: string) => void; ariaLabel: string; error?: string }) {
  return (
    <Field label="Model" error={error}>
      <select value={value} onChange={(e) => onChange(e.target.value)} aria-label={ariaLabel}>
        {models.map((m) => (
          <option key={m.folder} value={m.source === 'built-in' ? m.name : m.folder} disabled={!m.architecture}>
            {m.name}
          </option>
        ))}
      </select>
    </Field>
  );
}

type NumberInputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'type' | 'value' | 'onChange'>;

/** A number kept as typed text (so it can be empty); min, max, step, placeholder and aria-label go to the input. */
export function NumberField({ label, hint, error, value, onChange, ...input }: { label: string; hint?: string; error?: string; value: string; onChange: (value: string) => void } & NumberInputProps) {
  return (
    <Field label={label} hint={hint} error={error}>
      <input type="number" {...input} value={value} onChange={(e) => onChange(e.target.value)} />
    </Field>
  );
}
