import { defineConfig } from 'vite';

// The built page goes straight into the edge's embedded static folder, so `pinwheel up`
// serves it without npm. `npm run dev` proxies the API to a running edge (PINWHEEL_URL).
const edge = process.env.PINWHEEL_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: '../edge/static',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': edge,
      '/ws': { target: edge.replace(/^http/, 'ws'), ws: true },
    },
  },
});
