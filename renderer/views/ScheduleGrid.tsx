// The weekly lending schedule: 7 rows (Monday first) × 24 hour cells. A click toggles a cell, a drag
// paints (or erases, when it starts on a cell that is on) every cell it passes; a day's name toggles
// the whole day. Cells are buttons, so the keyboard toggles them too.
import { useRef, type PointerEvent } from "react";
import { cellOn, DAY_NAMES, DAY_SHORT, HOURS, SchedulePaint, toggleCell, toggleDay, type WeekGrid } from "../schedule-grid.js";

function cellOf(element: Element | null, root: HTMLElement | null): { day: number; hour: number } | null {
  const cell = element?.closest<HTMLElement>("[data-day][data-hour]") ?? null;
  if (cell === null || root === null || !root.contains(cell)) return null;
  return { day: Number(cell.dataset.day), hour: Number(cell.dataset.hour) };
}

const two = (n: number) => String(n).padStart(2, "0");

export function ScheduleGrid({ grid, onChange, active }: { grid: WeekGrid; onChange: (grid: WeekGrid) => void; active: boolean }) {
  const root = useRef<HTMLDivElement>(null);
  const paint = useRef<SchedulePaint | null>(null);

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0) return;
    const cell = cellOf(e.target as Element, root.current);
    if (cell === null) return;
    e.preventDefault();
    paint.current = SchedulePaint.start(grid, cell.day, cell.hour);
    onChange(paint.current.grid);
    // Every move of this pointer comes here, even over other cells (touch would otherwise keep it on the first).
    e.currentTarget.setPointerCapture(e.pointerId);
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    const session = paint.current;
    if (session === null) return;
    const cell = cellOf(document.elementFromPoint(e.clientX, e.clientY), root.current);
    if (cell !== null && session.over(cell.day, cell.hour)) onChange(session.grid);
  };
  const end = () => {
    paint.current = null;
  };

  return (
    <div
      className={`schedule-grid${active ? "" : " inactive"}`}
      data-testid="settings-schedule-grid"
      ref={root}
      role="grid"
      aria-label="Hours of the week this machine is lent (local time)"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={end}
      onPointerCancel={end}
      onLostPointerCapture={end}
    >
      <div className="schedule-corner" />
      {Array.from({ length: HOURS }, (_, hour) => (
        <div key={hour} className="schedule-hour" aria-hidden="true">
          {hour % 3 === 0 ? two(hour) : ""}
        </div>
      ))}
      {DAY_NAMES.map((name, day) => (
        <div key={name} className="schedule-row" role="row">
          <button type="button" className="schedule-day" data-testid={`settings-schedule-day-${day}`} title={`All of ${name} on or off`} onClick={() => onChange(toggleDay(grid, day))}>
            {DAY_SHORT[day]}
          </button>
          {Array.from({ length: HOURS }, (_, hour) => {
            const on = cellOn(grid, day, hour);
            return (
              <button
                key={hour}
                type="button"
                role="gridcell"
                className={`schedule-cell${on ? " on" : ""}`}
                data-day={day}
                data-hour={hour}
                data-on={on ? "true" : "false"}
                aria-pressed={on}
                aria-label={`${name} ${two(hour)}:00–${two((hour + 1) % 24)}:00`}
                title={`${name} ${two(hour)}:00–${two((hour + 1) % 24)}:00`}
                // The pointer toggles on pointerdown (so a drag paints); a click from the keyboard has detail 0.
                onClick={(e) => {
                  if (e.detail === 0) onChange(toggleCell(grid, day, hour));
                }}
              />
            );
          })}
        </div>
      ))}
    </div>
  );
}
