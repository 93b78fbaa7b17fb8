import * as msal from '@azure/msal-node';
import { Client } from '@microsoft/microsoft-graph-client';

/**
 * The Microsoft Graph JavaScript client (v3) with tokens from MSAL, against Enrollgraph over https.
 * `server` is Enrollgraph's root URL, e.g. https://127.0.0.1:8443 (`enrollgraph serve --tls`; run
 * Node with NODE_EXTRA_CA_CERTS set to the certificate it prints). Without `user`: the app's own
 * token (client credentials; the server needs --allow-app-only); with `user`: a delegated token.
 */
export function graphClientWithMsal(
  server: string,
  tenant: string,
  clientId: string,
  clientSecret: string,
  user?: { username: string; password: string },
): Client {
  const { host, hostname } = new URL(server);
  const app = new msal.ConfidentialClientApplication({
    // knownAuthorities (host:port) makes MSAL trust this authority without instance discovery.
    auth: { clientId, clientSecret, authority: `${server}/${tenant}`, knownAuthorities: [host] },
  });
  const scopes = ['https://graph.microsoft.com/.default'];
  return Client.initWithMiddleware({
    baseUrl: server, // the root: the client adds /beta/...
    defaultVersion: 'beta',
    customHosts: new Set([hostname]), // hostnames the client sends the token to
    authProvider: {
      getAccessToken: async () => {
        const result = user
          ? await app.acquireTokenByUsernamePassword({ scopes, username: user.username, password: user.password })
          : await app.acquireTokenByClientCredential({ scopes });
        if (!result) throw new Error('MSAL returned no token');
        return result.accessToken;
      },
    },
  });
}
