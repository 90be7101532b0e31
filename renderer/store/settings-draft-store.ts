// The Settings form's state, in the app's store rather than in the page: a draft outlives the page
// (another view and back keeps unsaved edits; a reload drops it), an edit clears the errors of the
// field it changes and no others, and the config.yaml dialog keeps what was pasted, with the errors
// of the import, until an import succeeds or it is closed. Part of AppState (app-store.ts).
import type { FieldError, HostApi, SettingsView } from "../../agent-core/host/contract.js";
import {
  draftFrom,
  EMPTY_MAPPING,
  errorsClearedBy,
  ESSENTIAL_FIELDS,
  sameDraft,
  toSettingsInput,
  type DraftMapping,
  type SettingsDraft,
} from "../views/settings-draft.js";
import type { AppState } from "./app-store.js";

export interface SettingsDraftState {
  /** The settings the draft started from, or the last ones the host sent while it was being edited. */
  baseline: SettingsView;
  draft: SettingsDraft;
  /** The draft says something other than `baseline`: there are unsaved changes. */
  dirty: boolean;
  /** Problems found before asking the host (numbers that are not whole numbers); they win over the host's. */
  localErrors: FieldError[];
  /** Where the last save's errors belong (env var rows, lines). */
  mapping: DraftMapping;
  /** The Advanced disclosure: closed on first run, open once the agent is configured. */
  advancedOpen: boolean;
}

/** The "Import config.yaml" dialog: the text as pasted (or read from a file) and what was wrong with it. */
export interface ConfigPasteState {
  text: string;
  /** The last import's errors; a field "" is a message about no field (a refused request). */
  errors: FieldError[];
}

export interface SettingsDraftSlice {
  /** Made from the settings when they first arrive; null until then. */
  settingsDraft: SettingsDraftState | null;
  /** Open while not null. */
  configPaste: ConfigPasteState | null;

  /** Changes one field of the draft, and clears that field's errors (the host's and the form's own). */
  editSettings<K extends keyof SettingsDraft>(key: K, value: SettingsDraft[K]): void;
  setSettingsAdvanced(open: boolean): void;
  /** Checks the draft, then saves it; once saved, the draft starts again from what the host stored. */
  saveSettingsDraft(): Promise<boolean>;
  /** Drops the unsaved changes. */
  discardSettingsDraft(): void;
  openConfigPaste(text?: string): void;
  editConfigPaste(text: string): void;
  closeConfigPaste(): void;
  /**
   * Imports a config.yaml. It replaces the settings (and the draft) once valid; otherwise the dialog
   * opens, or stays open, with this text and what is wrong with it, and nothing else changes.
   */
  importConfig(yaml: string): Promise<boolean>;
}

/** A fresh draft of `settings`. */
export function draftStateOf(settings: SettingsView, advancedOpen: boolean = settings.configured): SettingsDraftState {
  return { baseline: settings, draft: draftFrom(settings), dirty: false, localErrors: [], mapping: EMPTY_MAPPING, advancedOpen };
}

/**
 * The draft once the host has sent `settings` (a snapshot, another window's save): unchanged edits
 * follow the new settings, unsaved ones are kept and compared with them from now on.
 */
export function rebaseDraft(state: SettingsDraftState | null, settings: SettingsView): SettingsDraftState {
  if (state === null) return draftStateOf(settings);
  if (state.baseline === settings) return state;
  if (!state.dirty) return { ...draftStateOf(settings, state.advancedOpen), localErrors: state.localErrors, mapping: state.mapping };
  return { ...state, baseline: settings, dirty: !sameDraft(state.draft, draftFrom(settings)) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Set = (partial: Partial<AppState> | ((state: AppState) => Partial<AppState>)) => void;
type Get = () => AppState;

export function createSettingsDraftSlice(set: Set, get: Get, api: HostApi, now: () => number): SettingsDraftSlice {
  return {
    settingsDraft: null,
    configPaste: null,

    editSettings(key, value) {
      set((s) => {
        const state = s.settingsDraft;
        if (state === null) return {};
        const draft = { ...state.draft, [key]: value };
        const cleared = errorsClearedBy(key, state.draft, draft, state.mapping);
        // The same list when nothing is cleared: what is left is not news (the form does not scroll to it again).
        const without = (list: FieldError[]) => (list.some((e) => cleared(e.field)) ? list.filter((e) => !cleared(e.field)) : list);
        return {
          settingsDraft: {
            ...state,
            draft,
            dirty: !sameDraft(draft, draftFrom(state.baseline)),
            localErrors: without(state.localErrors),
          },
          settingsErrors: without(s.settingsErrors),
          // "Settings saved" belongs to what was saved, not to a form edited since.
          settingsSavedAt: null,
        };
      });
    },

    setSettingsAdvanced(open) {
      set((s) => (s.settingsDraft === null || s.settingsDraft.advancedOpen === open ? {} : { settingsDraft: { ...s.settingsDraft, advancedOpen: open } }));
    },

    async saveSettingsDraft() {
      const state = get().settingsDraft;
      if (state === null) return false;
      const conversion = toSettingsInput(state.draft);
      const mapping: DraftMapping = { envRowKeys: conversion.envRowKeys, lines: conversion.lines };
      // A problem under Advanced must not be hidden by the closed disclosure.
      const opens = (errors: readonly FieldError[]) => errors.some((e) => !ESSENTIAL_FIELDS.has(e.field));
      set((s) => ({
        settingsDraft: { ...state, mapping, localErrors: conversion.errors, advancedOpen: state.advancedOpen || opens(conversion.errors) },
        ...(conversion.errors.length > 0 ? { settingsSavedAt: null } : {}),
      }));
      if (conversion.input === null) return false;
      const ok = await get().saveSettings(conversion.input);
      const s = get();
      if (ok && s.settings !== null) {
        set({ settingsDraft: draftStateOf(s.settings, s.settingsDraft?.advancedOpen ?? state.advancedOpen) });
      } else if (s.settingsDraft !== null && opens(s.settingsErrors)) {
        set({ settingsDraft: { ...s.settingsDraft, advancedOpen: true } });
      }
      return ok;
    },

    discardSettingsDraft() {
      const s = get();
      if (s.settings === null) return;
      set({ settingsDraft: draftStateOf(s.settings, s.settingsDraft?.advancedOpen), settingsErrors: [] });
    },

    openConfigPaste(text = "") {
      set({ configPaste: { text, errors: [] } });
    },

    editConfigPaste(text) {
      // The errors stay: they say what the last import found, which the person is fixing.
      set((s) => (s.configPaste === null ? {} : { configPaste: { ...s.configPaste, text } }));
    },

    closeConfigPaste() {
      set({ configPaste: null });
    },

    async importConfig(yaml) {
      // A file read from disk opens the dialog only if it cannot be imported (below).
      set((s) => ({ busy: { ...s.busy, settings: true }, error: null, settingsSavedAt: null, configPaste: s.configPaste === null ? null : { ...s.configPaste, text: yaml } }));
      let errors: FieldError[];
      try {
        const result = await api.importConfig({ yaml });
        if (result.ok) {
          set((s) => ({
            settings: result.settings,
            settingsSavedAt: now(),
            settingsErrors: [],
            settingsDraft: draftStateOf(result.settings, s.settingsDraft?.advancedOpen),
            configPaste: null,
          }));
          void get().loadSandbox();
          return true;
        }
        errors = result.errors;
      } catch (error) {
        errors = [{ field: "", message: messageOf(error) }];
      } finally {
        set((s) => ({ busy: { ...s.busy, settings: false } }));
      }
      // The text is the one imported, even if the dialog was edited meanwhile: the errors are about it.
      set({ configPaste: { text: yaml, errors } });
      return false;
    },
  };
}
