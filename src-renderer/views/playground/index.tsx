/**
 * Playground: one prompt through one model — the next-token distribution,
 * attention patterns per layer and head, the logit lens across layers, and
 * greedy generation with and without a trained intervention, side by side.
 */
import { useState } from 'react';
import { useApi } from '../../api/hooks.js';
import { ErrorNote, Loading, Section } from '../../app/ui.js';
import type { ViewDefinition } from '../types.js';
import { AttentionPanel } from './AttentionPanel.js';
import { GeneratePanel } from './GeneratePanel.js';
import { LogitLensPanel } from './LogitLensPanel.js';
import { NextTokenPanel } from './NextTokenPanel.js';
import { PromptForm, type PromptInput } from './PromptForm.js';
import './playground.css';

function PlaygroundView() {
  const models = useApi('models.list', {});
  const [input, setInput] = useState<PromptInput>();
  const usable = (models.data?.models ?? []).filter((m) => m.architecture);
  const arch = usable.find((m) => m.folder === input?.model)?.architecture;
  return (
    <div className="playground">
      <Section title="Prompt">
        {models.error && <ErrorNote error={models.error} />}
        {models.loading && !models.data && <Loading label="Reading models" />}
        {models.data && <PromptForm models={usable} onSubmit={setInput} />}
      </Section>
      {input && arch && (
        <>
          <div className="playground-row">
            <NextTokenPanel model={input.model} prompt={input.prompt} />
            <AttentionPanel model={input.model} prompt={input.prompt} layers={arch.layers} heads={arch.heads} />
          </div>
          <LogitLensPanel model={input.model} prompt={input.prompt} />
          <GeneratePanel model={input.model} prompt={input.prompt} />
        </>
      )}
    </div>
  );
}

export const view: ViewDefinition = { id: 'playground', title: 'Playground', description: 'Look inside a model on one prompt', component: PlaygroundView };
