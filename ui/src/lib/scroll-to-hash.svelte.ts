// Scrolling a page to the element the URL's hash names (#drive-<id>, #ledger-<id>), once its list
// has loaded: the links between pages point at one card.
import { tick } from 'svelte';
import { app } from './app.svelte.ts';

/** Call while a page component is set up; `ready` says when the elements the hash may name exist. */
export function scrollToHashWhen(ready: () => boolean): void {
  let scrolledTo = '';
  $effect(() => {
    const target = app.router.hash;
    if (!target || !ready() || target === scrolledTo) return;
    scrolledTo = target;
    void tick().then(() => document.getElementById(target)?.scrollIntoView({ block: 'start' }));
  });
}
