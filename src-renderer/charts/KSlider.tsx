import { useId, type ChangeEvent } from 'react';

export interface KSliderProps {
  value: number;
  max: number;
  min?: number;
  onChange: (k: number) => void;
  label?: string;
  disabled?: boolean;
}

/** A slider with its number, for choosing how many top cells (heads) to select. */
export function KSlider({ value, max, min = 1, onChange, label = 'Top K', disabled }: KSliderProps) {
  const id = useId();
  const change = (e: ChangeEvent<HTMLInputElement>) => {
    const k = Math.round(Number(e.target.value));
    if (Number.isFinite(k)) onChange(Math.max(min, Math.min(max, k)));
  };
  return (
    <div style={{ display: 'flex', alignItems: 'center', gap: 6, whiteSpace: 'nowrap' }}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="range"
        min={min}
        max={max}
        step={1}
        value={value}
        disabled={disabled}
        onChange={change}
        style={{ width: 140, accentColor: 'var(--accent, #0072b2)' }}
      />
      <output htmlFor={id} style={{ minWidth: '4ch', fontVariantNumeric: 'tabular-nums' }}>
        {value}
      </output>
      <span style={{ color: 'var(--muted, #6e7781)' }}>of {max}</span>
    </div>
  );
}
