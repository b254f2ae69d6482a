import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import { DistributionBars, TokenStrip } from '../../charts/index.js';

export function NextTokenPanel({ model, prompt }: { model: string; prompt: string }) {
  const r = useApi('playground.nextToken', { model, prompt, topK: 20 });
  return (
    <Section title="Next token">
      {r.error && <ErrorNote error={r.error} />}
      {r.loading && !r.data && <Loading label="Running the model" />}
      {r.data && (
        <>
          <TokenStrip tokens={r.data.tokens.map((t) => t.text)} />
          <DistributionBars
            title="Next-token distribution"
            subtitle={`${r.data.model}: the ${Math.min(12, r.data.top.length)} most likely tokens after the prompt`}
            distributions={[{ name: 'next token', entries: r.data.top.map((t) => ({ token: t.token, prob: t.prob })) }]}
            k={12}
            exportName="next-token"
          />
        </>
      )}
    </Section>
  );
}
