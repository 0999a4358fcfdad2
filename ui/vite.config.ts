// Build of the admin page. Run from the repository root:
//   npx vite build --config ui/vite.config.ts     -> ui/dist/
//   npx vite --config ui/vite.config.ts           -> dev server, /api proxied to a local service
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = fileURLToPath(new URL('.', import.meta.url));
const devApi = process.env.SAFEHOLD_DEV_API ?? 'http://127.0.0.1:8099';

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  plugins: [
    // Component CSS is emitted to a .css file (never injected at run time): the server's CSP
    // has no 'unsafe-inline' for styles.
    svelte({ configFile: false, emitCss: true, compilerOptions: { css: 'external' } }),
  ],
  resolve: {
    alias: { $lib: fileURLToPath(new URL('./src/lib', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No source maps: the server does not serve them (server/http/app.ts), so none is built.
    sourcemap: false,
    // No inlined assets: everything is a file served from 'self'.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: { '/api': { target: devApi, changeOrigin: false } },
  },
});
