/**
 * The server's live source connects on first use (start-up must not pay for
 * client-node), yet names the cluster it will serve from the start.
 */
import assert from "node:assert/strict";
import { createLazyLiveSource } from "../../src/kube/live.ts";
import { startStandin } from "../support/kube_standin.ts";

Deno.test({
  name: "createLazyLiveSource() names the context at once and sends nothing until first use",
  sanitizeResources: false,
  async fn() {
    const standin = await startStandin({ objects: [] });
    const source = await createLazyLiveSource({
      kubeconfigPath: standin.kubeconfigPath,
      env: {},
      timeoutMs: 5000,
    });
    try {
      assert.match(source.describe(), /^cluster context "standin" from kubeconfig /);
      assert.equal(standin.requests.length, 0);
      await source.list("pods");
      assert.equal(standin.requests.length, 1);
      assert.equal(source.describe(), `cluster "standin" at ${standin.url}`);
    } finally {
      await source.close();
      await standin.close();
    }
  },
});

Deno.test("createLazyLiveSource() reads current-context from YAML or JSON kubeconfigs", async () => {
  const cases: Array<[string, RegExp]> = [
    ["current-context: kind-dev # comment\n", /context "kind-dev"/],
    ['current-context: "prod-eu"\n', /context "prod-eu"/],
    ['{\n  "current-context": "ci",\n  "clusters": []\n}\n', /context "ci"/],
    ["clusters: []\n", /current context/],
  ];
  for (const [text, expected] of cases) {
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(file, text);
      const source = await createLazyLiveSource({ kubeconfigPath: file, env: {}, timeoutMs: 1000 });
      assert.match(source.describe(), expected);
    } finally {
      await Deno.remove(file);
    }
  }
});
