/**
 * HTTP clients may authenticate with Kubernetes service-account tokens: the live source
 * sends a TokenReview, and only service accounts are accepted.
 */
import assert from "node:assert/strict";
import { createLazyLiveSource } from "../../src/kube/live.ts";
import { startStandin } from "../support/kube_standin.ts";

Deno.test({
  name: "reviewToken() accepts service-account tokens only, through the API server",
  sanitizeResources: false,
  async fn() {
    const standin = await startStandin({
      objects: [],
      tokenReviews: {
        "sa-token": "system:serviceaccount:team-a:assistant",
        "user-token": "alice@example.com",
      },
    });
    const source = await createLazyLiveSource({
      kubeconfigPath: standin.kubeconfigPath,
      env: {},
      timeoutMs: 5000,
    });
    try {
      assert.deepEqual(await source.reviewToken("sa-token"), {
        authenticated: true,
        username: "system:serviceaccount:team-a:assistant",
      });
      assert.equal((await source.reviewToken("user-token")).authenticated, false);
      assert.equal((await source.reviewToken("unknown")).authenticated, false);
      const posts = standin.requests.filter((r) => r.method === "POST");
      assert.equal(posts.length, 3);
      assert.ok(posts.every((r) => r.path === "/apis/authentication.k8s.io/v1/tokenreviews"));
    } finally {
      await source.close();
      await standin.close();
    }
  },
});
