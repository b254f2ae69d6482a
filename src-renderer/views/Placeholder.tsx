import type { ViewId } from '../../src-main/api/shell.js';
import type { ViewDefinition } from './types.js';

/** A view that is not built yet: it says what it will show. */
export function placeholderView(id: ViewId, title: string, description: string, willShow: string[]): ViewDefinition {
  function Placeholder() {
    return (
      <div className="placeholder" data-testid={`placeholder-${id}`}>
        <p>This view is not available in this version yet. It will show:</p>
        <ul>
          {willShow.map((s) => (
            <li key={s}>{s}</li>
          ))}
        </ul>
      </div>
    );
  }
  Placeholder.displayName = `${title}Placeholder`;
  return { id, title, description, component: Placeholder };
}
