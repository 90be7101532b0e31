// The Settings form's building blocks: a labelled field, a field's error text, and what each section gets.
import type { ReactNode } from "react";
import type { SettingsDraft } from "./settings-draft.js";
import { AlertIcon } from "./icons.js";
import { Prose } from "./Prose.js";

/** Errors grouped by field, in the order they came. */
export type ErrorMap = Map<string, string[]>;

export function ErrorText({ field, messages }: { field: string; messages: readonly string[] | undefined }) {
  if (messages === undefined || messages.length === 0) return null;
  return (
    <div className="field-error" data-testid={`field-error-${field}`} role="alert">
      <AlertIcon size={13} style={{ flex: "none", marginTop: 2 }} />
      <span>
        {messages.map((m, i) => (
          <span key={i}>
            {i > 0 ? "; " : null}
            <Prose text={m} />
          </span>
        ))}
      </span>
    </div>
  );
}

export function Field({ label, configKey, help, children, error }: { label: string; configKey?: string; help?: ReactNode; children: ReactNode; error?: ReactNode }) {
  return (
    <div className="field">
      <div className="field-label">
        {label}
        {configKey !== undefined ? <span className="key">{configKey}</span> : null}
      </div>
      <div>
        {children}
        {error}
        {help !== undefined ? <div className="field-help">{help}</div> : null}
      </div>
    </div>
  );
}

export interface SectionProps {
  draft: SettingsDraft;
  set: <K extends keyof SettingsDraft>(key: K, value: SettingsDraft[K]) => void;
  errors: ErrorMap;
  errorFor: (field: string) => ReactNode;
}

/** The draft fields that are a number typed as text. */
type NumberField = { [K in keyof SettingsDraft]: SettingsDraft[K] extends string ? K : never }[keyof SettingsDraft];

/** A short numeric input of a section (limits, minutes, counts), marked invalid when its field has an error. */
export function NumberInput({ field, testid, label, draft, set, errors }: Pick<SectionProps, "draft" | "set" | "errors"> & { field: NumberField; testid: string; label: string }) {
  return (
    <input
      className={`input narrow${errors.has(field) ? " invalid" : ""}`}
      data-testid={testid}
      aria-label={label}
      inputMode="numeric"
      value={draft[field]}
      onChange={(e) => set(field, e.target.value as SettingsDraft[typeof field])}
    />
  );
}
