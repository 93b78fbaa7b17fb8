import { ClientSecretCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';

/**
 * The Microsoft Graph JavaScript client (v3) with tokens from Azure Identity, against Enrollgraph
 * over https (`enrollgraph serve --tls --allow-app-only`; NODE_EXTRA_CA_CERTS = its certificate).
 */
export function graphClientWithAzureIdentity(server: string, tenant: string, clientId: string, clientSecret: string): Client {
  const credential = new ClientSecretCredential(tenant, clientId, clientSecret, {
    authorityHost: server, // the authority is Enrollgraph itself: {server}/{tenant}/oauth2/v2.0/token
    disableInstanceDiscovery: true, // no call to login.microsoftonline.com
  });
  return Client.initWithMiddleware({
    baseUrl: server,
    defaultVersion: 'beta',
    customHosts: new Set([new URL(server).hostname]),
    authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: ['https://graph.microsoft.com/.default'] }),
  });
}
