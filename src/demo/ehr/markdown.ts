/**
 * Card `detail` is GitHub-flavoured Markdown from a CDS service: rendered with marked, then sanitised with
 * DOMPurify before it touches the page. No images or embedded content (they would fetch from outside the EHR),
 * and every link opens in a new tab without handing the EHR window to the target.
 */
import DOMPurify from 'dompurify';
import { marked } from 'marked';

const FORBID_TAGS = [
  'img',
  'picture',
  'source',
  'video',
  'audio',
  'iframe',
  'object',
  'embed',
  'style',
  'form',
  'input',
  'button',
  'select',
  'textarea',
  'svg',
  'math',
];

let hooked = false;

export function safeMarkdown(md: string): string {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
    hooked = true;
  }
  const html = marked.parse(md, { async: false, gfm: true });
  return DOMPurify.sanitize(html, {
    FORBID_TAGS,
    FORBID_ATTR: ['style', 'class', 'id'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  });
}
