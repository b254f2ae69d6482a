import { render } from '@testing-library/react';
import { vi } from 'vitest';

/** The chart frame's padding inside a panel: 8 px a side. */
export const FRAME_PADDING = 16;

/**
 * Renders in a panel `width` px wide (jsdom does no layout): elements report that as their
 * clientWidth, less the chart frame's padding inside the frame.
 */
export function renderAtWidth(width: number, ui: Parameters<typeof render>[0]): ReturnType<typeof render> {
  const spy = vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockImplementation(function (this: HTMLElement) {
    return this.closest('figure') ? width - FRAME_PADDING : width;
  });
  try {
    return render(ui);
  } finally {
    spy.mockRestore();
  }
}
