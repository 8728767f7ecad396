/** One paragraph of a multi-hop question's context. */
export interface QaParagraph {
  /** Unique within its question: the title, with " (2)", " (3)" … for repeated titles (MuSiQue has some). */
  id: string;
  title: string;
  text: string;
  supporting: boolean;
}

/** A multi-hop question with its own paragraphs (HotpotQA: 10, 2 supporting; MuSiQue: 20). */
export interface QaQuestion {
  id: string;
  dataset: string;
  question: string;
  answer?: string;
  paragraphs: QaParagraph[];
  /** Supporting titles named by the record but absent from its paragraphs (some shipped copies lost them). */
  missingSupporting: string[];
  /** `file:line` of the record, for messages. */
  source: string;
}

export const isComplete = (q: QaQuestion): boolean => q.missingSupporting.length === 0 && q.paragraphs.some((p) => p.supporting);
