// Parses LogQL with Grafana's own grammar and prints, per query, its syntax tree as JSON:
// [{"query": ..., "errors": [[from, to], ...], "nodes": [[type, from, to], ...]}, ...].
// Reads a JSON array of query strings on stdin. Used by tests/dashboards/logql.py.
import { parser } from "@grafana/lezer-logql";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const queries = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const parsed = queries.map((query) => {
  const nodes = [];
  const errors = [];
  parser.parse(query).iterate({
    enter(node) {
      if (node.type.isError) errors.push([node.from, node.to]);
      else nodes.push([node.type.name, node.from, node.to]);
    },
  });
  return { query, errors, nodes };
});
process.stdout.write(JSON.stringify(parsed));
