/**
 * Client-certificate users (kind, kubeadm, many on-premises clusters): the live source
 * presents the kubeconfig's certificate over mutual TLS. `Deno.serve` cannot ask for
 * client certificates, so this API server is `node:https` with `requestCert`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createServer } from "node:https";
import type { TLSSocket } from "node:tls";
import { createLiveSource } from "../../src/kube/live.ts";
import { KubeApiError } from "../../src/errors.ts";

const certs = new URL("../support/certs/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, certs));
const b64 = (text: string) => Buffer.from(text).toString("base64");

/** A one-path API server that requires a client certificate signed by the test client CA. */
async function startMtlsApi(): Promise<{ url: string; peers: string[]; close(): Promise<void> }> {
  const peers: string[] = [];
  const server = createServer({
    key: read("server.key"),
    cert: read("server.crt"),
    ca: read("client-ca.crt"),
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    peers.push(`${peer.subject?.O}/${peer.subject?.CN}`);
    res.setHeader("content-type", "application/json");
    if (req.url?.startsWith("/api/v1/pods")) {
      res.end(JSON.stringify({
        kind: "PodList",
        apiVersion: "v1",
        metadata: {},
        items: [{ metadata: { name: "web-0", namespace: "emojivoto" } }],
      }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: "Status", status: "Failure", reason: "NotFound" }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    peers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function kubeconfig(server: string, withClientCert: boolean): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  const user = withClientCert
    ? `{client-certificate-data: ${b64(read("client.crt"))}, client-key-data: ${
      b64(read("client.key"))
    }}`
    : "{}";
  await Deno.writeTextFile(
    file,
    `apiVersion: v1
kind: Config
clusters: [{name: mtls, cluster: {server: "${server}", certificate-authority-data: ${
      b64(read("ca.crt"))
    }}}]
users: [{name: admin, user: ${user}}]
contexts: [{name: kind-mtls, context: {cluster: mtls, user: admin}}]
current-context: kind-mtls
`,
  );
  return file;
}

Deno.test({
  name: "createLiveSource() authenticates with the kubeconfig's client certificate",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const api = await startMtlsApi();
    const withCert = await kubeconfig(api.url, true);
    const without = await kubeconfig(api.url, false);
    try {
      const source = await createLiveSource({ kubeconfigPath: withCert, env: {}, timeoutMs: 5000 });
      const pods = await source.list("pods");
      assert.deepEqual(pods.map((p) => p.metadata.name), ["web-0"]);
      assert.deepEqual(api.peers, ["system:masters/kubernetes-admin"]);
      await source.close();

      const anonymous = await createLiveSource({
        kubeconfigPath: without,
        env: {},
        timeoutMs: 5000,
      });
      await assert.rejects(
        anonymous.list("pods"),
        (err: unknown) => err instanceof KubeApiError && err.status === 0,
      );
      await anonymous.close();
    } finally {
      await api.close();
      await Deno.remove(withCert);
      await Deno.remove(without);
    }
  },
});
