/**
 * Models: the built-in demo models, models in the local Hugging Face cache and
 * folders the user opened, with their architecture. Opening a folder checks it
 * (config, weights, tokenizer) and remembers it in the store.
 */
import { useState } from 'react';
import type { ModelSummary } from '../../../src-main/api/contract.js';
import { useAction, useApi } from '../../api/hooks.js';
import { useCommand } from '../../app/commands.js';
import { formatCount } from '../../app/format.js';
import { ErrorNote, Loading, PathPicker, Section } from '../../app/ui.js';
import type { ViewDefinition } from '../types.js';
import { HeadPatternsPanel } from './HeadPatternsPanel.js';

const SOURCE_LABEL: Record<ModelSummary['source'], string> = { 'built-in': 'built-in', 'hf-cache': 'Hugging Face cache', opened: 'opened folder' };

function ModelDetails({ m }: { m: ModelSummary }) {
  const a = m.architecture;
  if (!a) return <ErrorNote title={`${m.name} cannot be read`} error={new Error(m.error ?? 'unknown problem')} />;
  const rows: [string, string][] = [
    ['Family', `${a.family} (${a.modelType})`],
    ['Layers', String(a.layers)],
    ['Attention heads', `${a.heads} query, ${a.kvHeads} key/value${a.kvHeads < a.heads ? ' (grouped-query)' : ''}`],
    ['Width (d_model)', String(a.width)],
    ['Head size', String(a.headDim)],
    ['MLP width', String(a.mlpWidth)],
    ['Vocabulary', a.vocab.toLocaleString('en-US')],
    ['Context', `${a.maxPositions} tokens (${a.positional === 'rope' ? 'rotary positions' : 'learned positions'})`],
    ['Normalisation', a.norm],
    ['Parameters', `${formatCount(a.parameters)} (${a.parameters.toLocaleString('en-US')})`],
    ['Folder', m.folder],
  ];
  return (
    <dl className="details" aria-label={`${m.name} details`}>
      {rows.map(([k, v]) => (
        <div key={k} className="details-row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function ModelsView() {
  const list = useApi('models.list', {});
  const open = useAction('models.open');
  const [selected, setSelected] = useState<string>();
  const [trigger, setTrigger] = useState(0);
  useCommand('openModel', () => setTrigger((t) => t + 1));

  const onPick = async (path: string) => {
    const r = await open.run({ path });
    if (r) {
      setSelected(r.model.folder);
      list.reload();
    }
  };

  const models = list.data?.models ?? [];
  const current = models.find((m) => m.folder === selected) ?? models[0];

  return (
    <div className="view-models">
      <Section title="Available models" actions={<PathPicker kind="folder" label="Open model folder…" placeholder="/path/to/model (folder with config.json)" busy={open.loading} onPick={onPick} trigger={trigger} />}>
        {open.loading && <Loading label="Checking the model folder" />}
        {open.error && <ErrorNote title="Could not open the folder" error={open.error} />}
        {open.data && !open.loading && (
          <p className="note" role="status">
            Opened {open.data.model.name}.
          </p>
        )}
        {list.loading && !list.data && <Loading label="Looking for models" />}
        {list.error && <ErrorNote error={list.error} />}
        {list.data && models.length === 0 && <p className="note">No models found. Open a model folder to add one.</p>}
        {models.length > 0 && (
          <table className="table selectable" aria-label="Models">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Source</th>
                <th scope="col">Family</th>
                <th scope="col" className="num">Layers</th>
                <th scope="col" className="num">Heads</th>
                <th scope="col" className="num">KV heads</th>
                <th scope="col" className="num">Width</th>
                <th scope="col" className="num">Vocab</th>
                <th scope="col" className="num">Parameters</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => {
                const a = m.architecture;
                const isCurrent = current?.folder === m.folder;
                return (
                  <tr key={m.folder} data-model={m.name} aria-selected={isCurrent} className={isCurrent ? 'selected' : undefined} onClick={() => setSelected(m.folder)}>
                    <th scope="row">
                      <button type="button" className="link" onClick={() => setSelected(m.folder)}>
                        {m.name}
                      </button>
                    </th>
                    <td>{SOURCE_LABEL[m.source]}</td>
                    {a ? (
                      <>
                        <td>{a.family}</td>
                        <td className="num">{a.layers}</td>
                        <td className="num">{a.heads}</td>
                        <td className="num">{a.kvHeads}</td>
                        <td className="num">{a.width}</td>
                        <td className="num">{a.vocab.toLocaleString('en-US')}</td>
                        <td className="num">{formatCount(a.parameters)}</td>
                      </>
                    ) : (
                      <td colSpan={7} className="field-error">
                        {m.error}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Section>
      {current && (
        <Section title={current.name}>
          <ModelDetails m={current} />
        </Section>
      )}
      {current?.architecture && <HeadPatternsPanel key={current.folder} model={current.folder} builtIn={current.source === 'built-in'} />}
    </div>
  );
}

export const view: ViewDefinition = {
  id: 'models',
  title: 'Models',
  description: 'Built-in, cached and opened models with their architecture',
  component: ModelsView,
};
