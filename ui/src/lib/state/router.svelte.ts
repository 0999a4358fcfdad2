// A tiny router on history paths. The server answers index.html for every non-/api path, so
// any of these can be loaded directly or reloaded.
export type RouteName =
  | 'dashboard' | 'drives' | 'drive-health' | 'storage' | 'backups' | 'restore' | 'recovery-kit' | 'activity' | 'settings' | 'login' | 'setup' | 'setup-alerts' | 'not-found';

const ROUTES: Record<string, RouteName> = {
  '/': 'dashboard',
  '/drives': 'drives',
  '/storage': 'storage',
  '/backups': 'backups',
  '/backups/restore': 'restore',
  '/recovery-kit': 'recovery-kit',
  '/activity': 'activity',
  '/settings': 'settings',
  '/login': 'login',
  '/setup': 'setup',
  '/setup/alerts': 'setup-alerts',
};

/** `/drives/<drive id>/health`: one disk's health page. */
const DRIVE_HEALTH = /^\/drives\/([^/]+)\/health$/;

export class Router {
  path = $state(location.pathname);
  hash = $state(location.hash.slice(1));
  /** The query string's parameters (`/backups/restore?drive=…`). */
  query = $state.raw<URLSearchParams>(new URLSearchParams(location.search));
  route = $derived<RouteName>(routeOf(normalise(this.path)));
  /** The drive id in the URL of a per-drive page, or null. */
  driveId = $derived<string | null>(driveIdOf(normalise(this.path)));

  constructor() {
    addEventListener('popstate', () => this.#read());
  }

  /** Goes to `to` ("/drives", "/drives#drive-id"); `replace` leaves no history entry. */
  navigate(to: string, { replace = false } = {}): void {
    const url = new URL(to, location.origin);
    if (url.pathname + url.search + url.hash === location.pathname + location.search + location.hash) return;
    if (replace) history.replaceState(null, '', url.pathname + url.search + url.hash);
    else history.pushState(null, '', url.pathname + url.search + url.hash);
    this.#read();
    if (!url.hash) scrollTo({ top: 0 });
  }

  /**
   * Click handler for in-app links: lets the browser handle new-tab clicks, otherwise
   * navigates without a page load.
   */
  link = (event: MouseEvent): void => {
    const a = event.currentTarget as HTMLAnchorElement | null;
    if (!a || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || a.target) return;
    event.preventDefault();
    this.navigate(a.getAttribute('href') ?? '/');
  };

  #read(): void {
    this.path = location.pathname;
    this.hash = location.hash.slice(1);
    if (location.search.slice(1) !== this.query.toString()) this.query = new URLSearchParams(location.search);
  }
}

/** The page of a drive's health, for links. */
export function driveHealthHref(driveId: string): string {
  return `/drives/${encodeURIComponent(driveId)}/health`;
}

/** The restore page, opened on one drive. */
export function restoreHref(driveId?: string): string {
  return driveId ? `/backups/restore?${new URLSearchParams({ drive: driveId })}` : '/backups/restore';
}

function routeOf(path: string): RouteName {
  return ROUTES[path] ?? (DRIVE_HEALTH.test(path) ? 'drive-health' : 'not-found');
}

function driveIdOf(path: string): string | null {
  const m = DRIVE_HEALTH.exec(path);
  if (!m?.[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

function normalise(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
