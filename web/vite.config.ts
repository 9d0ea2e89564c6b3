import { defineConfig } from 'vite';

// The built page goes straight into the edge's embedded static folder, so `pinwheel up`
// serves it without npm. `npm run dev` proxies the API to a running edge (PINWHEEL_URL).
const edge = process.env.PINWHEEL_URL ?? 'http://127.0.0.1:8080';

// The built page is one line: whitespace with a line break in it renders as one space, so
// collapsing it changes nothing on screen (index.html has no <pre> or <textarea>), makes the
// page smaller, and leaves web/index.html the one readable copy of the markup.
const collapseHtmlWhitespace = {
  name: 'collapse-html-whitespace',
  apply: 'build' as const,
  transformIndexHtml: {
    order: 'post' as const,
    handler: (html: string) => html.replace(/\s*\n\s*/g, ' ').trim() + '\n',
  },
};

export default defineConfig({
  base: '/',
  plugins: [collapseHtmlWhitespace],
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
