// One GPU metric over the last 10 minutes, drawn by uPlot on a canvas: created once per card, fed
// with setData on every tick, resized with its container. Its readout (the newest value, or the one
// under the pointer and its time) is written straight into a DOM element, so moving the pointer
// does not re-render React. uPlot sets only element.style (allowed by the page's CSP).
import uPlot from "uplot";
import { GPU_HISTORY_MS } from "../../agent-core/host/contract.js";
import { formatClock, formatTime } from "../../agent-core/util/date-format.js";

export interface MetricSpec {
  /** Shown in the readout: "Utilisation". */
  label: string;
  unit: string;
  color: string;
  /** The top of the y axis (a GPU's memory or power limit), or null: the data's maximum. */
  max: number | null;
  /** The least top of the y axis when `max` is null. */
  floor: number;
  /** Decimals of the readout. */
  digits: number;
}

const AXIS = "#8a94a1";
const GRID = "rgba(255, 255, 255, 0.06)";
const FONT = '11px -apple-system, BlinkMacSystemFont, "Segoe UI", system-ui, Ubuntu, sans-serif';
export const CHART_HEIGHT = 120;

function valueText(value: number | null | undefined, spec: MetricSpec): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${value.toFixed(spec.digits)} ${spec.unit}`;
}

/** A tick label of the y axis: whole numbers, or one decimal below 10. */
function tickText(value: number): string {
  return Math.abs(value) < 10 && !Number.isInteger(value) ? value.toFixed(1) : String(Math.round(value));
}

function lastIndex(values: readonly (number | null)[]): number {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null && values[i] !== undefined) return i;
  return -1;
}

export class MetricChart {
  private readonly plot: uPlot;
  private readonly observer: ResizeObserver;
  private at: number[] = [];
  private values: (number | null)[] = [];
  private hovering = false;

  constructor(
    private readonly container: HTMLElement,
    private readonly readout: HTMLElement,
    private spec: MetricSpec,
  ) {
    const options: uPlot.Options = {
      width: Math.max(120, container.clientWidth),
      height: CHART_HEIGHT,
      ms: 1,
      padding: [8, 10, 0, 0],
      legend: { show: false },
      cursor: { y: false, drag: { x: false, y: false, setScale: false }, points: { size: 6, fill: spec.color } },
      scales: {
        x: {
          time: true,
          // Always the whole window, ending at the newest sample (or now, before the first).
          range: (_u, _min, max) => {
            const end = Number.isFinite(max) && max !== null ? max : Date.now();
            return [end - GPU_HISTORY_MS, end];
          },
        },
        y: {
          range: (_u, _min, max) => {
            const top = this.spec.max ?? Math.max(this.spec.floor, Number.isFinite(max) && max !== null ? max * 1.15 : 0);
            return [0, top];
          },
        },
      },
      axes: [
        // Clock times as the rest of the app says them ("14:05", 24-hour).
        { stroke: AXIS, font: FONT, size: 26, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1, size: 4 }, values: (_u, splits) => splits.map((t) => formatClock(t)) },
        {
          stroke: AXIS,
          font: FONT,
          size: 42,
          grid: { stroke: GRID, width: 1 },
          ticks: { show: false },
          values: (_u, splits) => splits.map(tickText),
        },
      ],
      series: [
        {},
        {
          label: spec.label,
          stroke: spec.color,
          width: 1.5,
          fill: `${spec.color}22`,
          points: { show: false },
        },
      ],
      hooks: {
        setCursor: [(u) => this.onCursor(u.cursor.idx ?? null)],
      },
    };
    this.plot = new uPlot(options, [[], []], container);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(container);
    this.writeReadout(null);
  }

  /** New samples (the whole window, column-wise as the host sends them). */
  setData(at: number[], values: (number | null)[], spec?: MetricSpec): void {
    if (spec !== undefined) this.spec = spec;
    this.at = at;
    this.values = values;
    this.plot.setData([at, values]);
    if (!this.hovering) this.writeReadout(null);
  }

  dispose(): void {
    this.observer.disconnect();
    this.plot.destroy();
  }

  private resize(): void {
    const width = Math.max(120, Math.floor(this.container.clientWidth));
    if (width !== this.plot.width) this.plot.setSize({ width, height: CHART_HEIGHT });
  }

  private onCursor(idx: number | null): void {
    this.hovering = idx !== null;
    this.writeReadout(idx);
  }

  /** The value under the pointer with its time, or the newest one. */
  private writeReadout(idx: number | null): void {
    if (idx !== null && idx < this.at.length) {
      this.readout.textContent = `${valueText(this.values[idx], this.spec)} at ${formatTime(this.at[idx]!)}`;
      return;
    }
    const last = lastIndex(this.values);
    this.readout.textContent = last < 0 ? "—" : valueText(this.values[last], this.spec);
  }
}
