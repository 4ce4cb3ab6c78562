import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv } from 'vite';

/**
 * The browser talks to `/graphql` on the page's own origin; Vite forwards it
 * to the API (API_URL, default http://127.0.0.1:3000). The refresh-token
 * cookie (HttpOnly, SameSite=strict, Path=/graphql) is then first-party and
 * no CORS is involved. The same proxy serves `npm run dev` and `npm run preview`.
 * In production put the API and the built files behind one origin the same way
 * (a reverse proxy), or serve them cross-origin with CORS_ORIGINS and
 * AUTH_COOKIE_SAMESITE=none on the server.
 */
export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, process.cwd(), ''), ...process.env };
  const target = env.API_URL || 'http://127.0.0.1:3000';
  const proxy = { '/graphql': { target, changeOrigin: false, xfwd: true } };
  return {
    plugins: [react()],
    server: { proxy },
    preview: { proxy },
    build: { sourcemap: true },
  };
});
