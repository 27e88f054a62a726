// A TypeDoc plugin for API.md: leaves out the members a class inherits from aws-cdk-lib
// (Stack alone has dozens), so the reference shows what this package adds.
import { Converter, ReflectionKind } from 'typedoc';

export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    const project = context.project;
    for (const reflection of Object.values(project.reflections)) {
      if (reflection.inheritedFrom && !reflection.overwrites && !reflection.kindOf(ReflectionKind.Constructor)) {
        project.removeReflection(reflection);
      }
    }
  }, -100);
}
