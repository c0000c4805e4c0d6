import { defineConfig } from 'vite';

// `npm run dev` proxies the management API to a running standin admin listener:
// STANDIN_ADMIN=http://127.0.0.1:9090 npm run dev
const admin = process.env.STANDIN_ADMIN || 'http://127.0.0.1:9090';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      '/api': { target: admin, changeOrigin: false },
    },
  },
});
