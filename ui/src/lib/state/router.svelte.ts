// A tiny router on history paths. The server answers index.html for every non-/api path, so
// any of these can be loaded directly or reloaded.
export type RouteName = 'dashboard' | 'drives' | 'activity' | 'login' | 'setup' | 'not-found';

const ROUTES: Record<string, RouteName> = {
  '/': 'dashboard',
  '/drives': 'drives',
  '/activity': 'activity',
  '/login': 'login',
  '/setup': 'setup',
};

export class Router {
  path = $state(location.pathname);
  hash = $state(location.hash.slice(1));
  route = $derived<RouteName>(ROUTES[normalise(this.path)] ?? 'not-found');

  constructor() {
    addEventListener('popstate', () => this.#read());
  }

  /** Goes to `to` ("/drives", "/drives#drive-id"); `replace` leaves no history entry. */
  navigate(to: string, { replace = false } = {}): void {
    const url = new URL(to, location.origin);
    if (url.pathname + url.hash === location.pathname + location.hash) return;
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
  }
}

function normalise(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
