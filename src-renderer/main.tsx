import { createRoot } from 'react-dom/client';
import { App } from './app/App.js';
import { initTheme } from './app/theme.js';
import './app/theme.css';

initTheme();
createRoot(document.getElementById('root')!).render(<App />);
