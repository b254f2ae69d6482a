// The prebuilt plotly.js bundle ships without type declarations; plotly.ts gives it a typed surface.
declare module 'plotly.js/dist/plotly-basic.min.js' {
  const Plotly: unknown;
  export default Plotly;
}
