// uPlot's script and style, imported as text (wrangler.toml [[rules]], the
// self-hosted build's esbuild plugin, the Vitest pool's module rules).
declare module "uplot/dist/uPlot.iife.min.js" {
  const text: string;
  export default text;
}
declare module "uplot/dist/uPlot.min.css" {
  const text: string;
  export default text;
}
