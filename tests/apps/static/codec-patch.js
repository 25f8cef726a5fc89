// Makes WebCodecs refuse the stream's real codec string (codec.spec.ts): `VideoDecoder`
// accepts only the probe's `avc1.42E01F` (so the viewer still advertises H.264), and, in
// mode "software", any configuration asking for `prefer-software`. A refused `configure`
// closes the decoder and reports NotSupportedError, as a browser does for a level it cannot
// decode; `isConfigSupported` answers false. Every `configure` is logged in `__codecLog`.
// A classic script (page: `addInitScript`) that is also importable as a module (worker).
self.rfbPatchCodecs = (mode) => {
  const Original = self.VideoDecoder;
  const PROBE = "avc1.42E01F";
  const ok = (config) =>
    config.codec === PROBE || (mode === "software" && config.hardwareAcceleration === "prefer-software");
  self.__codecLog = [];
  self.VideoDecoder = class extends Original {
    #error;
    constructor(init) {
      super(init);
      this.#error = init.error;
    }
    configure(config) {
      self.__codecLog.push(`${config.codec} ${config.hardwareAcceleration ?? "no-preference"}`);
      if (ok(config)) return super.configure(config);
      // Like a browser: configure() returns, the refusal comes asynchronously (the decoder
      // closes and its error callback runs).
      super.configure({ ...config, codec: PROBE });
      const report = this.#error;
      queueMicrotask(() => {
        if (this.state !== "closed") super.close();
        report(new DOMException(`${config.codec} is not supported here (test)`, "NotSupportedError"));
      });
    }
    static isConfigSupported(config) {
      return ok(config) ? Original.isConfigSupported(config) : Promise.resolve({ supported: false, config });
    }
  };
};
