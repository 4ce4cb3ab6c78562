import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApolloClient } from './apollo';
import { App } from './App';
import { bootstrap } from './auth';
import * as documents from './generated/graphql';
import './styles.css';

const client = createApolloClient();

// Page load: the access token is gone (memory only); the HttpOnly cookie may
// still name a live session. One refresh decides: signed in or login form.
void bootstrap();

// Exposed only in builds made with VITE_EXPOSE_CLIENT=true (the browser test
// uses it to fire parallel queries through the real link chain).
if (import.meta.env.VITE_EXPOSE_CLIENT === 'true') {
  (window as unknown as Record<string, unknown>).__AUTH_EXAMPLE__ = { client, documents };
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <App />
    </ApolloProvider>
  </StrictMode>,
);
