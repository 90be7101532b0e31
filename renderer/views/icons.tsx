// Inline SVG icons (no icon font, nothing remote). 16px, stroke = currentColor.
import type { ReactElement, SVGProps } from "react";

type IconProps = SVGProps<SVGSVGElement> & { size?: number };

function icon(paths: ReactElement, name: string) {
  const Icon = ({ size = 16, ...rest }: IconProps) => (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      {...rest}
    >
      {paths}
    </svg>
  );
  Icon.displayName = name;
  return Icon;
}

export const AgentIcon = icon(
  <>
    <rect x="3" y="4" width="18" height="12" rx="2" />
    <path d="M8 20h8M12 16v4" />
  </>,
  "AgentIcon",
);
export const GpuIcon = icon(
  <>
    <rect x="3" y="6" width="18" height="12" rx="2" />
    <rect x="7" y="9.5" width="6" height="5" rx="1" />
    <path d="M16 10h2M16 14h2M6 18v2M10 18v2M14 18v2M18 18v2" />
  </>,
  "GpuIcon",
);
export const TerminalIcon = icon(
  <>
    <rect x="3" y="4" width="18" height="16" rx="2" />
    <path d="m7 9 3 3-3 3M13 15h4" />
  </>,
  "TerminalIcon",
);
export const HistoryIcon = icon(
  <>
    <path d="M3 12a9 9 0 1 0 3-6.7L3 8" />
    <path d="M3 3v5h5M12 7v5l3 2" />
  </>,
  "HistoryIcon",
);
export const SettingsIcon = icon(
  <>
    <circle cx="12" cy="12" r="3" />
    <path d="M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z" />
  </>,
  "SettingsIcon",
);
export const DemoIcon = icon(
  <>
    <path d="M9 3h6M10 3v6L4.5 18.5A1.7 1.7 0 0 0 6 21h12a1.7 1.7 0 0 0 1.5-2.5L14 9V3" />
    <path d="M7.5 15h9" />
  </>,
  "DemoIcon",
);
export const PlayIcon = icon(<path d="M7 4.5v15l12-7.5z" fill="currentColor" stroke="none" />, "PlayIcon");
export const StopIcon = icon(<rect x="6" y="6" width="12" height="12" rx="1.5" fill="currentColor" stroke="none" />, "StopIcon");
export const CopyIcon = icon(
  <>
    <rect x="9" y="9" width="11" height="11" rx="2" />
    <path d="M5 15V5a2 2 0 0 1 2-2h8" />
  </>,
  "CopyIcon",
);
export const SearchIcon = icon(
  <>
    <circle cx="11" cy="11" r="6.5" />
    <path d="m20 20-4.2-4.2" />
  </>,
  "SearchIcon",
);
export const ChevronUpIcon = icon(<path d="m6 15 6-6 6 6" />, "ChevronUpIcon");
export const ChevronDownIcon = icon(<path d="m6 9 6 6 6-6" />, "ChevronDownIcon");
export const ArrowDownIcon = icon(<path d="M12 5v14M6 13l6 6 6-6" />, "ArrowDownIcon");
export const PauseIcon = icon(<path d="M9 5v14M15 5v14" />, "PauseIcon");
export const CheckIcon = icon(<path d="m5 12.5 4.5 4.5L19 7" />, "CheckIcon");
export const XIcon = icon(<path d="M6 6l12 12M18 6 6 18" />, "XIcon");
export const AlertIcon = icon(
  <>
    <path d="M12 3 2 20h20z" />
    <path d="M12 10v4M12 17.5v.01" />
  </>,
  "AlertIcon",
);
export const InfoIcon = icon(
  <>
    <circle cx="12" cy="12" r="9" />
    <path d="M12 11v5M12 7.5v.01" />
  </>,
  "InfoIcon",
);
export const ExternalIcon = icon(<path d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5" />, "ExternalIcon");
export const RefreshIcon = icon(<path d="M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6" />, "RefreshIcon");
export const PlusIcon = icon(<path d="M12 5v14M5 12h14" />, "PlusIcon");
export const UploadIcon = icon(<path d="M12 16V4M7 9l5-5 5 5M5 20h14" />, "UploadIcon");
export const DownloadIcon = icon(<path d="M12 4v12M7 11l5 5 5-5M5 20h14" />, "DownloadIcon");
export const LockIcon = icon(
  <>
    <rect x="5" y="11" width="14" height="9" rx="2" />
    <path d="M8 11V8a4 4 0 0 1 8 0v3" />
  </>,
  "LockIcon",
);
export const ShieldIcon = icon(<path d="M12 3 5 6v5.5c0 4.3 2.9 8 7 9.5 4.1-1.5 7-5.2 7-9.5V6z" />, "ShieldIcon");
export const DiskIcon = icon(
  <>
    <rect x="3" y="13" width="18" height="7" rx="2" />
    <path d="M5 13 7.5 5h9L19 13M7 16.5h.01" />
  </>,
  "DiskIcon",
);
export const LogoMark = icon(
  <>
    <path d="M5 14.5c2.4-1.6 4.6-2.4 7-2.4s4.6.8 7 2.4" strokeWidth={2.4} />
    <path d="M5 9.5c2.4 1.6 4.6 2.4 7 2.4s4.6-.8 7-2.4" strokeWidth={2.4} />
  </>,
  "LogoMark",
);
export const ClockIcon = icon(
  <>
    <circle cx="12" cy="12" r="9" />
    <path d="M12 7v5l3 2" />
  </>,
  "ClockIcon",
);
export const MoonIcon = icon(<path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z" />, "MoonIcon");
export const HeartIcon = icon(<path d="M12 20.5s-8-4.9-8-10.6A4.4 4.4 0 0 1 12 7.3a4.4 4.4 0 0 1 8 2.6c0 5.7-8 10.6-8 10.6z" />, "HeartIcon");
/** Long lines wrap: a line that turns back under itself. */
export const WrapIcon = icon(<path d="M4 6h16M4 12h13a3 3 0 0 1 0 6h-4m2-2.5L12.5 18l2.5 2.5M4 18h5" />, "WrapIcon");
/** Fold every section: two chevrons pointing together. */
export const FoldAllIcon = icon(<path d="m7 4 5 5 5-5M7 20l5-5 5 5" />, "FoldAllIcon");
/** Unfold every section: two chevrons pointing apart. */
export const UnfoldAllIcon = icon(<path d="m7 9 5-5 5 5M7 15l5 5 5-5" />, "UnfoldAllIcon");
