import { demoObjects } from "../src/demo/mod.ts";
import { startStandin } from "./support/kube_standin.ts";
import { connectSubprocess } from "./_mcp.ts";
const api = await startStandin({ objects: demoObjects(), forbidden: { resources: ["pods"] } });
const c = await connectSubprocess([], { KUBECONFIG: api.kubeconfigPath });
for (const [n, a] of [["check_mesh_health", {}], ["validate_mesh_config", {}], ["get_allowed_sources", { target_namespace: "emojivoto", target_service: "emoji-svc" }]] as const) {
  const r: any = await c.client.callTool({ name: n, arguments: a });
  console.log(n, r.isError, JSON.stringify(r.structuredContent?.summary ?? r.content).slice(0, 400));
}
await c.close(); await api.close();
const api2 = await startStandin({ objects: demoObjects(), forbidden: { namespaces: ["booksapp"] } });
const c2 = await connectSubprocess([], { KUBECONFIG: api2.kubeconfigPath });
for (const [n, a] of [["list_meshed_services", {}], ["list_meshed_services", { namespace: "emojivoto" }], ["analyze_connectivity", { source_namespace: "emojivoto", source_service: "web-svc", target_service: "emoji-svc" }]] as const) {
  const r: any = await c2.client.callTool({ name: n, arguments: a });
  console.log(n, r.isError, JSON.stringify(r.structuredContent?.summary ?? r.structuredContent?.verdict ?? r.content).slice(0, 400));
}
await c2.close(); await api2.close();
