/** How far LoFIT's selection and ITI's top K (same K) agree. */
import type { CellRef } from '../../charts/index.js';
import { overlapOf } from './data.js';
import { HeadList } from './HeadPanels.js';

export function OverlapPanel({ lofit, iti }: { lofit: CellRef[]; iti: CellRef[] }) {
  const o = overlapOf(lofit, iti);
  return (
    <table className="table" aria-label="Selection overlap">
      <tbody>
        <tr>
          <th scope="row">Both</th>
          <td className="num">{o.shared.length}</td>
          <td>
            <HeadList heads={o.shared} />
          </td>
        </tr>
        <tr>
          <th scope="row">LoFIT only</th>
          <td className="num">{o.onlyA.length}</td>
          <td>
            <HeadList heads={o.onlyA} />
          </td>
        </tr>
        <tr>
          <th scope="row">ITI only</th>
          <td className="num">{o.onlyB.length}</td>
          <td>
            <HeadList heads={o.onlyB} />
          </td>
        </tr>
        <tr>
          <th scope="row" title="|both| / |either|">Jaccard</th>
          <td className="num" data-testid="lofit-jaccard">
            {Number.isNaN(o.jaccard) ? '—' : o.jaccard.toFixed(2)}
          </td>
          <td className="note">1 means the same heads, 0 none in common</td>
        </tr>
      </tbody>
    </table>
  );
}
