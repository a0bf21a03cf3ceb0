// The dashboard's build: src/ → dist/ (index.html and hashed assets under
// /assets/), which web/embed.go embeds in the hub binary. No plugin is
// needed: Vite's own transform compiles TSX with React's automatic JSX
// runtime.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    // dist/.gitkeep is committed (the embed needs the directory): keep it.
    emptyOutDir: false,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // one small app: no code splitting, no inline assets (the CSP is self-only)
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev` proxies the API to a hub on :8080 (make run)
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/v1': 'http://127.0.0.1:8080',
    },
  },
});
